/** Panel: factory reset (windows.startFactoryResetAsync, confirmed by typing the device id). */
export default {
  id: 'factory-reset',
  title: 'Factory reset',
  sections: [{ name: 'factoryReset', reportOnly: true }],
  methods: [
    {
      name: 'windows.startFactoryResetAsync',
      label: 'Factory reset',
      destructive: true,
      sendEmptyPayload: true,
      warning: 'The device is reset and everything on it is erased.',
      fields: [
        { key: 'clearTPM', label: 'Clear TPM', type: 'boolean' },
        {
          key: 'recoveryPartitionGUID',
          label: 'Recovery partition GUID (optional)',
          type: 'text',
          pattern:
            '\\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\}?',
          patternHint: 'is not a GUID',
        },
      ],
    },
  ],
};
