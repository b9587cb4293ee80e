/**
 * Config: one validated YAML file with `MERIDIAN_*` environment overrides. Read once at start-up
 * and handed to each role as its own frozen section.
 *
 * @module
 */
export { ConfigError } from "./errors.ts";
export {
  applyEnv,
  envNames,
  loadConfig,
  parseConfig,
  parseYamlConfig,
} from "./load.ts";
export {
  DEFAULTS,
  type LogConfig,
  type MeridianConfig,
  type OriginConfig,
  type VirtualLiveChannel,
} from "./schema.ts";
