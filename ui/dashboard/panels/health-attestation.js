/** Panel: Device Health Attestation (deviceHealthAttestation) and its report-now / get-report methods. */
export default {
  id: 'health-attestation',
  title: 'Health attestation',
  sections: [
    {
      name: 'deviceHealthAttestation',
      fields: [
        {
          key: 'Endpoint',
          label: 'Endpoint (host name)',
          type: 'text',
          allowEmpty: true,
          pattern: '[A-Za-z0-9.-]+',
          patternHint: 'must be a host name (no scheme, no path)',
          hint: 'empty = has.spserv.microsoft.com',
        },
        {
          key: 'ReportIntervalInSeconds',
          label: 'Report interval (s)',
          type: 'integer',
          required: true,
          min: -1,
          max: 31536000,
          hint: '-1 none, 0 at start-up',
        },
      ],
    },
  ],
  methods: [
    { name: 'windows.deviceHealthAttestationReportNow', label: 'Report now' },
    {
      name: 'windows.deviceHealthAttestationGetReport',
      label: 'Get report',
      fields: [
        {
          key: 'Nonce',
          label: 'Nonce (hex)',
          type: 'text',
          required: true,
          pattern: '(?:[0-9a-fA-F]{2}){8,32}',
          patternHint: 'must be 16-64 hex digits (even count)',
        },
      ],
    },
  ],
};
