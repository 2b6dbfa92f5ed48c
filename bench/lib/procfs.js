'use strict';
// Linux /proc readers for a child process: CPU ticks (cross-check of process.cpuUsage) and memory.

const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clkTck;
/** Clock ticks per second of /proc/<pid>/stat utime/stime (getconf CLK_TCK, usually 100). */
function clockTicks() {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of the process in µs (tick resolution: 10 ms at CLK_TCK=100), or undefined. */
function cpuMicrosFromStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]); // field 14
    const stime = Number(rest[12]); // field 15
    return ((utime + stime) * 1e6) / clockTicks();
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM (peak RSS) in bytes, from /proc/<pid>/status. */
function memory(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return { rss: undefined, hwm: undefined };
  }
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Busy time of the whole machine in ticks: the 'cpu' line of /proc/stat minus idle and iowait. */
function machineBusyTicks() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return undefined;
  }
}

/** utime + stime + cutime + cstime of this process in ticks (waited-for children included). */
function selfAndChildrenTicks() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]); // fields 14-17
  } catch {
    return undefined;
  }
}

/**
 * Starts a watch of how much CPU *other* processes used; stop() returns their average load in
 * cores over the interval. Call stop() only after every child has exited (their time is then in
 * cutime/cstime).
 */
function watchOtherLoad() {
  const t0 = Date.now();
  const busy0 = machineBusyTicks();
  const own0 = selfAndChildrenTicks();
  return {
    stop() {
      const busy1 = machineBusyTicks();
      const own1 = selfAndChildrenTicks();
      const seconds = (Date.now() - t0) / 1000;
      if ([busy0, own0, busy1, own1].includes(undefined) || seconds <= 0) return undefined;
      const otherTicks = busy1 - busy0 - (own1 - own0);
      return Math.max(0, otherTicks / clockTicks() / seconds);
    },
  };
}

module.exports = { clockTicks, cpuMicrosFromStat, memory, cpuModel, watchOtherLoad };
