/** Panel: Wi-Fi profiles (windows.wifi) and windows.getWifiDetails. */
export default {
  id: 'wifi',
  title: 'Wi-Fi',
  sections: [
    {
      name: 'wifi',
      json: true,
      hint: '{ "applyProperties": { "<profile key>": { "profile": "container/file.xml" } | "uninstall" }, "reportProperties": "yes" } or "no-apply-yes-report"',
    },
  ],
  methods: [
    {
      name: 'windows.getWifiDetails',
      label: 'Export profile',
      fields: [
        { key: 'profileName', label: 'Profile name', type: 'text', required: true },
        { key: 'containerName', label: 'Container', type: 'text', required: true },
        { key: 'output', label: 'Output blob', type: 'text', required: true },
        { key: 'connectionString', label: 'Storage connection string (optional)', type: 'secret' },
      ],
    },
  ],
};
