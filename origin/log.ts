/** The origin's view of the shared logger. @module */
export {
  createLogger,
  describeError,
  type Logger,
  redactQuery,
  silentLogger,
} from "../log/mod.ts";
