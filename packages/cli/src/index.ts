export { main, buildProgram } from './program.js';
export { EXIT, type Io } from './io.js';
