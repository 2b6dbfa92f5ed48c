// The id of the container this process runs in, for aws.ecs.container_id / aws.eks.container_id
// (spec §7.2, §7.4). cgroup v1 puts it at the end of the process's cgroup paths
// (`/docker/<id>`, `/kubepods/…/<id>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`); with
// cgroup v2 and a private cgroup namespace the path is just `/`, and the id shows up in the
// mount table instead (`/var/lib/docker/containers/<id>/hostname` and the like). Sandbox (pause
// container) paths are not taken: that is the pod's id, not this container's.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ID = /([0-9a-f]{64})(?:\.scope)?\s*$/;
const MOUNT_ID = /\/containers\/([0-9a-f]{64})\//;

export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = CGROUP_ID.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = MOUNT_ID.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** From `<procDir>/cgroup`, else `<procDir>/mountinfo`; undefined outside a container. */
export async function readContainerId(procDir = '/proc/self'): Promise<string | undefined> {
  return containerIdFromCgroup(await readOrEmpty(join(procDir, 'cgroup'))) ?? containerIdFromMountinfo(await readOrEmpty(join(procDir, 'mountinfo')));
}
