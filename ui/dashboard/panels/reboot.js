/** Panel: reboot (rebootInfo schedules, rebootCmd) and windows.rebootAsync (reboot now). */
const ISO = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?';

export default {
  id: 'reboot',
  title: 'Reboot',
  sections: [
    {
      name: 'rebootInfo',
      fields: [
        {
          key: 'singleRebootTime',
          label: 'Single reboot time',
          type: 'text',
          allowEmpty: true,
          pattern: ISO,
          patternHint: 'is not an ISO 8601 date-time (e.g. 2030-05-01T02:00:00Z)',
          placeholder: '2030-05-01T02:00:00Z',
          hint: 'ISO 8601; empty = no single reboot',
        },
        {
          key: 'dailyRebootTime',
          label: 'Daily reboot time',
          type: 'text',
          allowEmpty: true,
          pattern: ISO,
          patternHint: 'is not an ISO 8601 date-time (e.g. 2030-05-01T03:30:00Z)',
          placeholder: '2030-05-01T03:30:00Z',
          hint: 'first day and time of day; empty = no daily reboot',
        },
      ],
    },
    { name: 'rebootCmd', reportOnly: true },
  ],
  methods: [{ name: 'windows.rebootAsync', label: 'Reboot now' }],
};
