/** Every test file sees the kinds the product ships, as the CLI, the server and the app do at start. */
import { registerBuiltinJobs } from '../src/jobs/builtin.js';

registerBuiltinJobs();
