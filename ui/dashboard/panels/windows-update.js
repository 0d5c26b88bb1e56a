/** Panel: Windows Update policy and approved updates; windows.startUsoClientCmdAsync (scan / restart). */
const int = (key, label, min, max) => ({ key, label, type: 'integer', min, max });

export default {
  id: 'windows-update',
  title: 'Windows Update',
  sections: [
    {
      name: 'windowsUpdatePolicy',
      fields: [
        int('activeHoursStart', 'Active hours start (0-23)', 0, 23),
        int('activeHoursEnd', 'Active hours end (0-23)', 0, 23),
        int('allowAutoUpdate', 'Allow auto update (0-5)', 0, 5),
        int('allowUpdateService', 'Allow update service (0/1)', 0, 1),
        {
          key: 'branchReadinessLevel',
          label: 'Branch readiness level',
          type: 'select',
          options: ['2', '4', '8', '16', '32', '64', '128'],
          number: true,
        },
        int('deferFeatureUpdatesPeriod', 'Defer feature updates (days, 0-365)', 0, 365),
        int('deferQualityUpdatesPeriod', 'Defer quality updates (days, 0-30)', 0, 30),
        int('pauseFeatureUpdates', 'Pause feature updates (0/1)', 0, 1),
        int('pauseQualityUpdates', 'Pause quality updates (0/1)', 0, 1),
        int('scheduledInstallDay', 'Scheduled install day (0 = every day)', 0, 7),
        int('scheduledInstallTime', 'Scheduled install time (0-23)', 0, 23),
        {
          key: 'ring',
          label: 'Ring',
          type: 'select',
          options: ['EarlyAdopter', 'Preview', 'GeneralAvailability'],
        },
        {
          key: 'sourcePriority',
          label: 'Source priority',
          type: 'select',
          options: ['local', 'remote'],
        },
      ],
    },
    {
      name: 'windowsUpdates',
      fields: [
        {
          key: 'approved',
          label: 'Approved updates',
          type: 'text',
          pattern:
            '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})*',
          patternHint: 'must be GUIDs separated by /',
          hint: 'GUIDs separated by /',
        },
      ],
    },
  ],
  methods: [
    {
      name: 'windows.startUsoClientCmdAsync',
      label: 'Run update command',
      fields: [
        {
          key: 'cmd',
          label: 'Command',
          type: 'select',
          required: true,
          options: ['startInteractiveScan', 'restartDevice'],
        },
      ],
    },
  ],
};
