'use strict';
// Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time and inclusive time.

const fs = require('node:fs');
const path = require('node:path');

function shortUrl(url, repo) {
  if (!url) return '(native)';
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  if (repo && u.startsWith(repo + path.sep)) u = u.slice(repo.length + 1);
  return u;
}

/**
 * @param {string} file
 * @param {string} repo  prefix stripped from file URLs
 * @param {(url:string)=>boolean} isAgent  which files count as agent code
 */
function analyseProfile(file, repo, isAgent) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map();
  for (const n of prof.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);

  const frameKey = (n) => {
    const cf = n.callFrame;
    return `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url, repo)}:${cf.lineNumber + 1}`;
  };
  const self = new Map();
  const incl = new Map();
  const fileSelf = new Map();
  let total = 0;
  let agentSelf = 0;
  const { samples, timeDeltas } = prof;
  for (let i = 0; i < samples.length; i++) {
    // Delta i is the time since sample i-1; attribute the following delta to sample i.
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    if (dt <= 0) continue;
    total += dt;
    const leaf = byId.get(samples[i]);
    const key = frameKey(leaf);
    self.set(key, (self.get(key) || 0) + dt);
    const url = shortUrl(leaf.callFrame.url, repo);
    fileSelf.set(url, (fileSelf.get(url) || 0) + dt);
    if (isAgent(leaf.callFrame.url)) agentSelf += dt;
    // Inclusive: every distinct frame on the stack once (recursion counted once).
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const k = frameKey(byId.get(id));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) || 0) + dt);
    }
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { total, agentSelf, self: sorted(self), inclusive: sorted(incl), fileSelf: sorted(fileSelf) };
}

module.exports = { analyseProfile };
