import type { HandlerContext } from "@connectrpc/connect";

/** The `gateway.deadline` settings. */
export interface DeadlineSettings {
  /** Given to calls that arrive without a deadline. */
  readonly defaultTimeoutMs: number;
  /** The longest deadline a call keeps; longer ones are cut to it. */
  readonly maxTimeoutMs: number;
}

/**
 * Decides the deadline of a forwarded call: the client's remaining time,
 * the default when it set none, never more than the maximum. So no call
 * through the gateway holds a service's resources without end. Never 0:
 * the transport reads 0 as "no deadline", and a spent deadline must still
 * fail upstream.
 */
export function createDeadlinePolicy(
  settings: DeadlineSettings,
): (context: HandlerContext) => number {
  return (context) => {
    const remaining = context.timeoutMs();
    const wanted = remaining === undefined ? settings.defaultTimeoutMs : Math.max(1, remaining);
    return Math.min(wanted, settings.maxTimeoutMs);
  };
}
