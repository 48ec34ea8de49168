#!/usr/bin/env node
// The `lakehouse` command: registers tsx so the TypeScript CLI runs as is.
import { register } from "tsx/esm/api";

register();
await import("../services/cli/main.ts");
