// lib ES2022 types useGrouping as boolean; 'always' (ES2023 Intl, Chrome 106+, Firefox 116+, Safari 15.4+)
// is needed because CLDR Italian leaves four-digit numbers ungrouped ("1234"), misaligning a column of counts.
declare namespace Intl {
  interface NumberFormatOptionsUseGroupingRegistry {
    always: never
  }
}
