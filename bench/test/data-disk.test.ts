import { describe, expect, it } from 'vitest';
import { diskText, inMemory, mountOf } from '../src/data-disk.js';

const MOUNTINFO = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard',
  '25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683784k',
  '30 25 0:27 / /dev/shm rw,relatime shared:5 - tmpfs shm rw,size=1k',
  '41 27 8:1 / /mnt/fast\\040disk rw,relatime - xfs /dev/nvme0n1p1 rw',
  '',
].join('\n');

describe('mountOf', () => {
  it('finds the mount holding a path: the longest mount point that is a parent of it', () => {
    expect(mountOf('/tmp/flux-bench-abc', MOUNTINFO)).toEqual({ fsType: 'ext4', source: '/dev/vda', mountPoint: '/' });
    expect(mountOf('/mnt/fast disk/run', MOUNTINFO)).toEqual({ fsType: 'xfs', source: '/dev/nvme0n1p1', mountPoint: '/mnt/fast disk' });
  });

  it('takes the last of mounts stacked on one point (the visible one), and a mount point itself', () => {
    expect(mountOf('/dev/shm', MOUNTINFO)).toEqual({ fsType: 'tmpfs', source: 'shm', mountPoint: '/dev/shm' });
    expect(mountOf('/dev/shm/flux-bench-1', MOUNTINFO)?.source).toBe('shm');
  });

  it('does not take a sibling whose name starts like the mount point', () => {
    expect(mountOf('/dev/shmother/x', MOUNTINFO)?.mountPoint).toBe('/');
  });

  it('tells memory filesystems from disks, and names them', () => {
    const tmpfs = { path: '/dev/shm/x', ...mountOf('/dev/shm/x', MOUNTINFO)! };
    const ext4 = { path: '/tmp/x', ...mountOf('/tmp/x', MOUNTINFO)! };
    expect([inMemory(tmpfs), inMemory(ext4)]).toEqual([true, false]);
    expect(diskText(ext4)).toBe('ext4 /dev/vda at /');
  });
});
