#!/usr/bin/env node
// Committed shim so the workspace can link the bin before the first build.
import { run } from '../dist/bin.js';

run();
