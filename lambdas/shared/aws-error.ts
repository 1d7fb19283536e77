/**
 * The name of an error an AWS SDK call threw, as the drift guards report it: the SDK v3
 * exception name (`ResourceNotFoundException`, `WAFNonexistentItemException`, …), else an
 * older-style `Code`/`code`, else `Error`. Never the message (callers bound and log that
 * themselves).
 */
export function awsErrorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v !== 'Error' && v !== '') return v;
  }
  return 'Error';
}
