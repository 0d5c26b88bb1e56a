/** Panel: device info (windows.deviceInfo, report-only; saving {} asks for a fresh read) and report-all. */
export default {
  id: 'device-info',
  title: 'Device info',
  sections: [{ name: 'deviceInfo', fields: [], saveLabel: 'Refresh device info' }],
  methods: [{ name: 'windows.reportAllAsync', label: 'Report all sections' }],
};
