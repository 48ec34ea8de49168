import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createTerminalUploadProgress } from "./upload-progress.js";

/** A writable that claims to be an 80-column terminal and keeps what it was sent. */
function fakeTerminal(): { stream: Writable; text(): string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  Object.assign(stream, { isTTY: true, columns: 80 });
  return { stream, text: () => text };
}

describe("terminal upload progress", () => {
  it("shows the bar, then the server's activity with seconds ticking, then clears the line", async () => {
    const terminal = fakeTerminal();
    const progress = createTerminalUploadProgress(terminal.stream)(2 * 1024 * 1024);
    progress.advance(1024 * 1024);
    expect(terminal.text()).toContain("uploading [");
    progress.advance(1024 * 1024);
    progress.waiting("converting to Parquet and committing");
    expect(terminal.text()).toContain("converting to Parquet and committing… 0s");
    await sleep(1_300);
    expect(terminal.text()).toContain("converting to Parquet and committing… 1s");
    progress.stop();
    const after = terminal.text().length;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
    expect(terminal.text()).toMatch(/\x1B\[2K$/);
    await sleep(300);
    expect(terminal.text().length).toBe(after);
    progress.stop();
    expect(terminal.text().length).toBe(after);
  });
});
