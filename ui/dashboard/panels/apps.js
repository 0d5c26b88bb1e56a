/** Panel: apps (UWP apps, desktopApps MSI) and windows.manageAppLifeCycleAsync. */
export default {
  id: 'apps',
  title: 'Apps',
  sections: [
    {
      name: 'apps',
      json: true,
      hint: '{ "<id>": { "pkgFamilyName", "version": "x.y.z.w" | "?" | "not installed", "startUp", "appxSource", ... } | null, "?": { "store", "nonStore" } }',
    },
    {
      name: 'desktopApps',
      json: true,
      hint: '{ "{PRODUCT-GUID}": { "version": "2.1.0", "source": "container/file.msi", "sha256"?, "commandLine"? } | null }',
    },
    { name: 'manageAppLifeCycleCmd', reportOnly: true },
  ],
  methods: [
    {
      name: 'windows.manageAppLifeCycleAsync',
      label: 'Start / stop app',
      fields: [
        {
          key: 'action',
          label: 'Action',
          type: 'select',
          required: true,
          options: ['start', 'stop'],
        },
        {
          key: 'pkgFamilyName',
          label: 'Package family name',
          type: 'text',
          required: true,
          pattern: '[^_\\s]+_[A-Za-z0-9]+',
          patternHint: 'is not <Name>_<PublisherId>',
        },
      ],
    },
  ],
};
