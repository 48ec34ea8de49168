import { startFixtureUpstreams } from "./fixture-upstreams.js";

/**
 * The fixture upstreams in a process of their own, for tests that pause
 * (SIGSTOP), resume (SIGCONT) or stop (SIGTERM) a service as an operator or
 * a crash would. Prints the upstreams' URLs as one JSON line once they listen.
 */
const upstreams = await startFixtureUpstreams();
process.once("SIGTERM", () => {
  void upstreams.shutdown().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify(upstreams.urls)}\n`);
