/**
 * mimalloc's purge delay for the whole process, set before anything runs.
 *
 * Bun allocates through mimalloc, which gives idle pages back to the OS 10 ms
 * after they are freed. A stream frees and allocates multi-megabyte buffers
 * many times a second (each gRPC message is joined into a fresh buffer), so
 * at that delay every buffer faulted its pages in again, zeroed by the
 * kernel. With pages kept for a second, DoPut of 2,000 × 365 batches went
 * from 224–237 to 250–279 MB/s and the server's CPU per 300,000 events from
 * 3.1–3.2 s to 2.7–2.9 s (bench/RESULTS.md); idle memory still goes back
 * after a second.
 *
 * mimalloc reads its options from the environment once, when the process
 * starts, and Bun offers no call to change them later. So unless
 * MIMALLOC_PURGE_DELAY is already set (the user's choice wins), the process
 * replaces itself once through execve: same PID, arguments and open files,
 * with the variable set. Importing this module first keeps that ahead of
 * any other work or output.
 */

const PURGE_DELAY_MS = "1000";

/** A compiled binary's script path lives in Bun's embedded file system. */
const EMBEDDED_SCRIPT = /^(\/\$bunfs\/|[A-Z]:[\\/]~BUN[\\/])/;

function reexecWithPurgeDelay(): void {
  if (process.env.MIMALLOC_PURGE_DELAY !== undefined || process.execve === undefined) return;
  const script = process.argv[1] ?? "";
  // A compiled binary finds its script itself; `bun src/main.ts` needs it named again.
  const scriptArgs = EMBEDDED_SCRIPT.test(script) ? [] : [script];
  const args = [process.argv0, ...process.execArgv, ...scriptArgs, ...process.argv.slice(2)];
  try {
    process.execve(process.execPath, args, { ...process.env, MIMALLOC_PURGE_DELAY: PURGE_DELAY_MS });
  } catch {
    // No execve here: run on with mimalloc's defaults.
  }
}

reexecWithPurgeDelay();
