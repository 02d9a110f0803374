export const HEADROOM_VERSION = '0.1.0';
