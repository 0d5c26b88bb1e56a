/** Panel: Windows telemetry level (windows.windowsTelemetry). */
export default {
  id: 'telemetry',
  title: 'Windows telemetry',
  sections: [
    {
      name: 'windowsTelemetry',
      fields: [
        {
          key: 'level',
          label: 'Level',
          type: 'select',
          required: true,
          options: ['security', 'basic', 'enhanced', 'full'],
          hint: 'enhanced is refused by this platform’s policy',
        },
      ],
    },
  ],
};
