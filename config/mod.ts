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
  type AppAccess,
  type AuthConfig,
  DEFAULTS,
  type LimitsConfig,
  LIST_ITEMS,
  type ListenerLimitsConfig,
  type ListItemSchema,
  type LogConfig,
  MAX_MEDIA_PATH_LENGTH,
  MAX_PLAYLIST_ITEMS,
  type MeridianConfig,
  type OriginAppConfig,
  type OriginConfig,
  type OriginHooksConfig,
  type OriginStreamAccessConfig,
  type VirtualLiveChannel,
  type VirtualLiveScheduleItem,
} from "./schema.ts";
