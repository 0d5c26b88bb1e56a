/** Panel: time (timeInfo zone/NTP, timeService w32time). */
const bias = (key, label) => ({ key, label, type: 'integer', min: -1440, max: 1440 });
const dow = (key, label) => ({ key, label, type: 'integer', min: 0, max: 6 });

export default {
  id: 'time',
  title: 'Time',
  sections: [
    {
      name: 'timeInfo',
      fields: [
        {
          key: 'ntpServer',
          label: 'NTP servers',
          type: 'text',
          placeholder: 'time.windows.com,0x9',
        },
        {
          key: 'timeZoneKeyName',
          label: 'Time zone key name',
          type: 'text',
          placeholder: 'Pacific Standard Time',
        },
        {
          key: 'dynamicDaylightTimeDisabled',
          label: 'Dynamic daylight time disabled',
          type: 'boolean',
        },
        bias('timeZoneBias', 'Bias (minutes)'),
        { key: 'timeZoneStandardName', label: 'Standard name', type: 'text' },
        bias('timeZoneStandardBias', 'Standard bias'),
        { key: 'timeZoneStandardDate', label: 'Standard date', type: 'text', allowEmpty: false },
        dow('timeZoneStandardDayOfWeek', 'Standard day of week (0 = Sunday)'),
        { key: 'timeZoneDaylightName', label: 'Daylight name', type: 'text' },
        bias('timeZoneDaylightBias', 'Daylight bias'),
        { key: 'timeZoneDaylightDate', label: 'Daylight date', type: 'text' },
        dow('timeZoneDaylightDayOfWeek', 'Daylight day of week (0 = Sunday)'),
      ],
    },
    {
      name: 'timeService',
      fields: [
        { key: 'enabled', label: 'NTP client enabled', type: 'select', options: ['yes', 'no'] },
        { key: 'startup', label: 'Startup', type: 'select', options: ['auto', 'manual'] },
        { key: 'started', label: 'Started', type: 'select', options: ['yes', 'no'] },
        {
          key: 'sourcePriority',
          label: 'Source priority',
          type: 'select',
          options: ['local', 'remote'],
        },
      ],
    },
  ],
};
