import { TEMP_SUFFIX } from "../object-key.js";

/** Every kind of key the contract forbids, by what is wrong with it; shared by unit and disk tests. */
export const BAD_KEYS: Record<string, string> = {
  "parent escape": "../x",
  "parent escape in the middle": "a/../../x",
  "dot segment": "a/./b",
  absolute: "/abs",
  "empty segment": "a//b",
  backslash: "a\\b",
  "escaped dots": "%2e%2e/x",
  "escaped slash": "a%2Fb",
  "escaped backslash": "a%5cb",
  NUL: "a\u0000b",
  "C0 control": "a\u0001b",
  DEL: "a\u007fb",
  "C1 control": "a\u0085b",
  "1025 bytes": "a".repeat(1025),
  "not NFC": "e\u0301",
  empty: "",
  "trailing slash": "a/",
  "lone surrogate": "a\ud800b",
  "reserved temp suffix": `a/b${TEMP_SUFFIX}`,
};
