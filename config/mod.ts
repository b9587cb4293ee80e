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
  type AuthConfig,
  DEFAULTS,
  type LimitsConfig,
  LIST_ITEMS,
  type ListenerLimitsConfig,
  type ListItemSchema,
  type LogConfig,
  type MeridianConfig,
} from "./schema.ts";
export {
  type AppAccess,
  MAX_MEDIA_PATH_LENGTH,
  MAX_PLAYLIST_ITEMS,
  ORIGIN_CONSTRAINTS,
  ORIGIN_DEFAULTS,
  type OriginAppConfig,
  type OriginConfig,
  type OriginHooksConfig,
  type OriginStreamAccessConfig,
  type VirtualLiveChannel,
  type VirtualLiveScheduleItem,
} from "./origin_schema.ts";
export {
  DEFAULT_LADDER,
  type TranscodeAppConfig,
  type TranscodeConfig,
  type TranscodeProfile,
} from "./transcode_schema.ts";
