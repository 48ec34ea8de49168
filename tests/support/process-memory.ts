import { readFile } from "node:fs/promises";

/** A process's resident set size in bytes, from `/proc/<pid>/status` (0 once it is gone). */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

/** The RSS seen before sampling started and the highest seen since. */
export interface RssSampler {
  readonly baseline: number;
  /** The highest RSS sampled so far (at least the baseline). */
  peak(): number;
  /** Stops sampling after one last sample; resolves with the peak. */
  stop(): Promise<number>;
}

/**
 * Samples a process's RSS every `intervalMs` and keeps the peak, so memory
 * that a stream holds only for a moment still shows. The sampling reads a
 * small file and never keeps the event loop alive on its own.
 */
export async function sampleRss(pid: number, intervalMs = 50): Promise<RssSampler> {
  const baseline = await rssBytes(pid);
  let peak = baseline;
  const sample = async () => {
    peak = Math.max(peak, await rssBytes(pid));
  };
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  return {
    baseline,
    peak: () => peak,
    async stop() {
      clearInterval(timer);
      await sample();
      return peak;
    },
  };
}
