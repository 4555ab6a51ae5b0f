import { describe, expect, it } from 'vitest';
import { createLogger, stderrSink } from '../../src/observability/logger.js';

describe('logger', () => {
  it('JSON records carry ISO 8601 times', () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', sink: stderrSink((c) => out.push(String(c))) });
    log.info('hello');
    const rec = JSON.parse(out.join('')) as { time: string; msg: string };
    expect(rec.msg).toBe('hello');
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('a live display can divert the lines (progress bars write them above themselves), and give them back', () => {
    const direct: string[] = [];
    const diverted: string[] = [];
    const sink = stderrSink((c) => direct.push(String(c)));
    const log = createLogger({ level: 'info', format: 'pretty', color: false, sink });
    sink.divert((line) => diverted.push(line));
    log.warn('while the bars show');
    sink.divert(undefined);
    log.warn('after');
    expect(diverted.join('')).toContain('WARN: while the bars show');
    expect(direct.join('')).toContain('WARN: after');
    expect(direct.join('')).not.toContain('while the bars show');
    expect(diverted.join('') + direct.join('')).not.toMatch(/\u001b\[/);
  });
});
