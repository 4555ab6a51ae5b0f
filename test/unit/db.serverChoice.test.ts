import { describe, expect, it } from 'vitest';
import { chooseServer, libpqUrl } from '../../src/db/serverChoice.js';
import { classifyConnectError } from '../../src/db/probe.js';

const none = () => false;

describe('chooseServer (libpq conventions)', () => {
  it('takes the flag, then DATABASE_URL, then the PG* variables, then the embedded server', () => {
    expect(chooseServer('postgres://a@h/d', { DATABASE_URL: 'postgres://b@h/d', PGHOST: 'x' })).toEqual({ url: 'postgres://a@h/d', chosenBy: '--database-url' });
    expect(chooseServer(undefined, { DATABASE_URL: 'postgres://b@h/d', PGHOST: 'x' })).toEqual({ url: 'postgres://b@h/d', chosenBy: 'DATABASE_URL' });
    expect(chooseServer(undefined, { PGHOST: 'db.example', PGPORT: '5433', PGUSER: 'etl' }, none)).toEqual({ url: 'postgresql://etl@db.example:5433/etl', chosenBy: 'PGHOST, PGPORT, PGUSER' });
    expect(chooseServer(undefined, {}, none)).toEqual({ url: undefined, chosenBy: 'embedded' });
  });

  it('PGPASSWORD, PGPASSFILE and PGSSLMODE only modify: alone they choose nothing, and the password never goes in the URL', () => {
    expect(chooseServer(undefined, { PGPASSWORD: 'pw', PGPASSFILE: '/x', PGSSLMODE: 'require' }, none).chosenBy).toBe('embedded');
    expect(libpqUrl({ PGHOST: 'h', PGUSER: 'u', PGPASSWORD: 'pw' }, none)).toBe('postgresql://u@h:5432/u');
  });

  it('PGHOSTADDR is where libpq connects; a socket folder goes in the query; a missing host is the socket if one exists', () => {
    expect(libpqUrl({ PGHOST: 'name', PGHOSTADDR: '10.0.0.5', PGUSER: 'u', PGDATABASE: 'd' }, none)).toBe('postgresql://u@10.0.0.5:5432/d');
    expect(libpqUrl({ PGHOST: '/var/run/postgresql', PGUSER: 'u', PGDATABASE: 'd' }, none)).toBe('postgresql://u@/d?host=%2Fvar%2Frun%2Fpostgresql&port=5432');
    expect(libpqUrl({ PGPORT: '5433', PGUSER: 'u' }, (p) => p === '/var/run/postgresql/.s.PGSQL.5433')).toBe('postgresql://u@/u?host=%2Fvar%2Frun%2Fpostgresql&port=5433');
    expect(libpqUrl({ PGHOST: '::1', PGUSER: 'u' }, none)).toBe('postgresql://u@[::1]:5432/u');
  });
});

describe('classifyConnectError', () => {
  it('fails at once for an unknown host, a refused login and a missing database; retries a refused or slow connection', () => {
    for (const code of ['ENOTFOUND', '28P01', '28000', '3D000']) expect(classifyConnectError({ code })).toBe('fatal');
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', '57P03']) expect(classifyConnectError({ code })).toBe('retry');
    expect(classifyConnectError(new Error('Connection terminated due to connection timeout'))).toBe('retry');
  });
});
