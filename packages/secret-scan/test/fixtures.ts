/** Plain-text secrets of every class the scanner covers, each with a field it might be put under. Fake values of real shapes. */
export const SECRETS: readonly { readonly name: string; readonly key: string; readonly value: string }[] = [
  {
    name: 'PEM private key',
    key: 'caBundle',
    value: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n',
  },
  { name: 'AWS access key id', key: 'region', value: 'AKIAIOSFODNN7EXAMPLE' },
  { name: 'AWS secret access key', key: 'secretAccessKey', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  { name: 'GitHub token', key: 'image', value: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a' },
  { name: 'GitHub fine-grained token', key: 'notes', value: 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF' },
  { name: 'Slack token', key: 'channel', value: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx' },
  { name: 'Slack webhook', key: 'url', value: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX' },
  { name: 'Google API key', key: 'endpoint', value: 'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe' },
  {
    name: 'Google service account key',
    key: 'config',
    value:
      '{"type": "service_account", "project_id": "p", "private_key_id": "0123456789abcdef0123", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"}',
  },
  { name: 'JSON Web Token', key: 'header', value: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U' },
  { name: 'URL with a password', key: 's3Url', value: 'https://backup:s3cr3t-Passw0rd@minio.internal:9000' },
  { name: 'URL with a query token', key: 's3Url', value: 'https://minio.internal:9000/?access_token=Zm9vYmFyYmF6cXV4MTIz' },
  { name: 'literal password', key: 'password', value: 'hunter2hunter2' },
  { name: 'high-entropy signing key', key: 'signingKey', value: 'q8Zr2Lx0Vb7Nw4Ty6Ud1Sg9Kf3Hj5Mp' },
  { name: 'token in a selector', key: 'api_key', value: 'k3yV4lu3-for-the-api' },
  { name: 'credential assignment inside PromQL', key: 'expr', value: 'sum(rate(http_requests_total{service="x",api_key="k3yV4lu3-for-the-api"}[5m]))' },
];
