#!/usr/bin/env -S node --max-semi-space-size=4
// Committed shim so the workspace can link the bin before the first build.
//
// The flag caps V8's young generation at 4 MB semi-spaces (Node's default lets them grow to
// 16 MB). Only start-up can set it, so it is here: npm's link runs this line (env -S), and
// pnpm's and npm's shims copy its flags. A render streams, and its peak RSS at 100k objects is
// ~170 MB with it, ~230 MB without; the cost is more scavenges (~0.5 s of CPU at 100k objects,
// --trace-gc). docs/benchmarks.md has the measurements; test/bin.test.ts runs both ways in.
import { run } from '../dist/bin.js';

run();
