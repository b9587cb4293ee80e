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
  type MetricsConfig,
} from "./schema.ts";
export {
  ACCESS_LOG_DEFAULTS,
  type AccessLogConfig,
  type SchedulerAccessLogConfig,
} from "./access_log_schema.ts";
export {
  type AppAccess,
  type DvrAppConfig,
  type DvrScheduleItem,
  type DvrStreamConfig,
  MAX_MEDIA_PATH_LENGTH,
  MAX_PLAYLIST_ITEMS,
  MIN_RELAY_SECRET_LENGTH,
  ORIGIN_CONSTRAINTS,
  ORIGIN_DEFAULTS,
  type OriginAppConfig,
  type OriginConfig,
  type OriginDvrConfig,
  type OriginHooksConfig,
  type OriginRecordConfig,
  type OriginRelayConfig,
  type OriginRtspConfig,
  type OriginSrtConfig,
  type OriginStreamAccessConfig,
  type OriginWebrtcConfig,
  type RecordAppConfig,
  type RecordFormat,
  type RelayForwardConfig,
  type RelayUpstreamConfig,
  type RtspSourceConfig,
  SCHEDULE_TIME_RE,
  type VirtualLiveChannel,
  type VirtualLiveScheduleItem,
} from "./origin_schema.ts";
export {
  MAX_TLS_CERTIFICATES,
  TLS_DEFAULTS,
  type TlsCertificateConfig,
  type TlsConfig,
  type TlsListenerConfig,
  tlsListenerEnabled,
} from "./tls_schema.ts";
export {
  DEFAULT_LADDER,
  type TranscodeAppConfig,
  type TranscodeConfig,
  type TranscodeProfile,
} from "./transcode_schema.ts";
