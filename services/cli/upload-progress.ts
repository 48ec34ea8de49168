import { SingleBar } from "cli-progress";

/** Reports upload progress to a person, or to no one. */
export interface UploadProgress {
  advance(bytes: number): void;
  /** Removes the bar, leaving the terminal as it was. */
  stop(): void;
}

/** Starts a progress bar of `totalBytes`. */
export type UploadProgressFactory = (totalBytes: number) => UploadProgress;

/** For output that no one watches (a pipe, a file, CI logs): nothing at all. */
export const noUploadProgress: UploadProgressFactory = () => ({
  advance() {},
  stop() {},
});

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A cli-progress bar on `stream` (stderr, a terminal), showing bytes sent,
 * the total and the time left. Cleared when done so it leaves no noise.
 */
export function createTerminalUploadProgress(stream: NodeJS.WritableStream): UploadProgressFactory {
  return (totalBytes) => {
    const bar = new SingleBar({
      stream,
      format: "uploading [{bar}] {percentage}% {sent}/{total_size} eta {eta_formatted}",
      clearOnComplete: true,
      hideCursor: true,
    });
    let sent = 0;
    bar.start(totalBytes, 0, { sent: mebibytes(0), total_size: mebibytes(totalBytes) });
    return {
      advance(bytes) {
        sent += bytes;
        bar.update(sent, { sent: mebibytes(sent) });
      },
      stop() {
        bar.stop();
      },
    };
  };
}
