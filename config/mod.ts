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
  type DvrAppConfig,
  type DvrScheduleItem,
  type DvrStreamConfig,
  type LimitsConfig,
  LIST_ITEMS,
  type ListenerLimitsConfig,
  type ListItemSchema,
  type LogConfig,
  type MeridianConfig,
  type OriginAppConfig,
  type OriginConfig,
  type OriginDvrConfig,
  type OriginHooksConfig,
  type OriginRecordConfig,
  type OriginStreamAccessConfig,
  type RecordAppConfig,
  type RecordFormat,
  SCHEDULE_TIME_RE,
  type VirtualLiveChannel,
} from "./schema.ts";
