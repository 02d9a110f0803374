/** How the panel names and colours each model family (the same in the comparison, the chart and the table). */
import type { TrialsFamily } from '../../../../worker/src/contract/trialsProtocol.ts';

export const FAMILY_LABEL: Record<TrialsFamily, string> = { nn: 'NN', xgboost: 'XGBoost', lightgbm: 'LightGBM', catboost: 'CatBoost' };
/** Mantine colours far apart in hue, each readable on light and dark at shade 6 (7 for lines on white). */
const FAMILY_HUE: Record<TrialsFamily, string> = { nn: 'blue', xgboost: 'orange', lightgbm: 'teal', catboost: 'grape' };
export const familyColor = (family: TrialsFamily, shade = 6): string => `var(--mantine-color-${FAMILY_HUE[family]}-${shade})`;
