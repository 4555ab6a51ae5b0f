import { describe, expect, it } from 'vitest';
import { ownerDead, parseInstance, processAlive } from '../../src/supervisor/recovery.js';

const fire = (instance: string, beatAgeSeconds: number | null, stopped = false) => ({ jobType: 'j', fireAt: new Date(0), instance, beatAgeSeconds, stopped });

describe('ownerDead: whose open fire may be redone', () => {
  it('a daemon of this host whose process is gone is dead at once', () => {
    expect(ownerDead(fire('me:42', 1), 'me', () => false)).toBe(true);
    expect(ownerDead(fire('me:42', 1), 'me', () => true)).toBe(false);
  });
  it('elsewhere: stopped, or silent for more than 30 s', () => {
    expect(ownerDead(fire('other:42', 5), 'me')).toBe(false);
    expect(ownerDead(fire('other:42', 31), 'me')).toBe(true);
    expect(ownerDead(fire('other:42', 1, true), 'me')).toBe(true);
  });
  it('a daemon that never beat (older than the heartbeat) on another host is left alone', () => {
    expect(ownerDead(fire('other:42', null), 'me')).toBe(false);
    expect(ownerDead(fire('peer', null), 'me')).toBe(false);
  });
  it('parses host:pid and knows its own process is alive', () => {
    expect(parseInstance('db-1.example:1234')).toEqual({ host: 'db-1.example', pid: 1234 });
    expect(parseInstance('peer')).toBeUndefined();
    expect(processAlive(process.pid)).toBe(true);
  });
});
