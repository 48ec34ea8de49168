import { SingleBar } from "cli-progress";

/** Reports upload progress, then what the server is doing, to a person or to no one. */
export interface UploadProgress {
  advance(bytes: number): void;
  /**
   * The upload is done and the server is at work: replaces the bar with
   * `activity` and the time spent on it, so a long conversion never looks
   * like a stalled upload.
   */
  waiting(activity: string): void;
  /** Removes the status line, leaving the terminal as it was; safe to repeat. */
  stop(): void;
}

/** Starts a progress bar of `totalBytes`. */
export type UploadProgressFactory = (totalBytes: number) => UploadProgress;

/** For output that no one watches (a pipe, a file, CI logs): nothing at all. */
export const noUploadProgress: UploadProgressFactory = () => ({
  advance() {},
  waiting() {},
  stop() {},
});

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A cli-progress line on `stream` in `format`, cleared when stopped so it leaves no noise. */
function statusLine(stream: NodeJS.WritableStream, format: string): SingleBar {
  return new SingleBar({ stream, format, clearOnComplete: true, hideCursor: true });
}

/**
 * A cli-progress bar on `stream` (stderr, a terminal), showing bytes sent,
 * the total and the time left; then, while the server works, the activity
 * with its elapsed time, redrawn as it ticks.
 */
export function createTerminalUploadProgress(stream: NodeJS.WritableStream): UploadProgressFactory {
  return (totalBytes) => {
    let line = statusLine(
      stream,
      "uploading [{bar}] {percentage}% {sent}/{total_size} eta {eta_formatted}",
    );
    let sent = 0;
    line.start(totalBytes, 0, { sent: mebibytes(0), total_size: mebibytes(totalBytes) });
    return {
      advance(bytes) {
        sent += bytes;
        line.update(sent, { sent: mebibytes(sent) });
      },
      waiting(activity) {
        line.stop();
        line = statusLine(stream, `${activity}… {duration_formatted}`);
        line.start(0, 0);
      },
      stop() {
        line.stop();
      },
    };
  };
}
