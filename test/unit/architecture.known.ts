/**
 * Violations of the architecture check that main has today, each to be fixed and then removed from
 * this list. test/unit/architecture.test.ts fails on a violation not listed here, and on an entry
 * that no longer occurs: the list can only shrink. Line counts in brackets are informative only
 * (an entry matches by file and function name).
 */
export const KNOWN_VIOLATIONS: readonly string[] = [
  'folder cycle: cli -> dashboard -> cli',
  'length: src/cli/main.ts buildProgram (427 lines)',
  'length: src/dashboard/server.ts startDashboard (198 lines)',
  'length: src/dashboard/server.ts startDashboard > createServer() callback (91 lines)',
  'length: src/dashboard/server.ts startDashboard > createServer() callback > <anonymous> (85 lines)',
  'size: src/cli/main.ts (614 lines)',
  'up: src/dashboard/server.ts -> src/cli/history.ts',
];
