/** Panel: certificates (windows.certificates stores by thumbprint) and windows.getCertificateDetails. */
const STORES = [
  'rootCATrustedCertificates_Root',
  'rootCATrustedCertificates_CA',
  'rootCATrustedCertificates_TrustedPublisher',
  'rootCATrustedCertificates_TrustedPeople',
  'certificateStore_CA_System',
  'certificateStore_Root_System',
  'certificateStore_My_User',
  'certificateStore_My_System',
];

export default {
  id: 'certificates',
  title: 'Certificates',
  sections: [
    {
      name: 'certificates',
      json: true,
      hint: 'Per store key: { "<SHA-1 thumbprint>": { "state": "installed", "fileName": "container/blob.cer" } | { "state": "uninstalled" } }',
    },
  ],
  methods: [
    {
      name: 'windows.getCertificateDetails',
      label: 'Export certificate details',
      fields: [
        { key: 'path', label: 'Store', type: 'select', required: true, options: STORES },
        {
          key: 'hash',
          label: 'Thumbprint',
          type: 'text',
          required: true,
          pattern: '[0-9a-fA-F]{40}',
          patternHint: 'must be 40 hex digits',
        },
        { key: 'containerName', label: 'Container', type: 'text', required: true },
        { key: 'output', label: 'Output blob', type: 'text', required: true },
        { key: 'connectionString', label: 'Storage connection string (optional)', type: 'secret' },
      ],
    },
  ],
};
