// The cases compared between real robfig/cron v3 and the TypeScript port: node cases.mjs > cases.json
const specs = [
  // fields, names, steps, lists, ? and the star-bit day rule
  '0 0 * * *', '5,10-12 */6 1-31/10 JAN,mar-May mon-FRI', '0 0 5/10 * *', '0 0 1 * 5', '0 0 */2 * 5', '0 0 ? * ?',
  '0 0 */1 * 2', '0 0 1-31 * 2', '0 0 1,11,21,31 * *', '0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 * *', '0 0 31 * *',
  '0 0 29 2 *', '0 0 30 2 *', '0 0 1,,15, * *', '0 0 *-5 * *', '0 0 +3 * *', '*/15 9-17/4 * * MON-FRI', '0 12 * * sun,SAT',
  // descriptors and @every
  '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@every 1h30m', '@every 1.5s', '@every 500ms',
  // time zones, DST (Berlin: 02:00 skipped in March, 02:00–03:00 repeated in October), midnight transitions
  'CRON_TZ=Europe/Lisbon 0 0 1,11,21,31 * *', 'CRON_TZ=Europe/Berlin 0 0 * * *', 'CRON_TZ=Europe/Berlin 30 2 * * *',
  'TZ=America/New_York 0 0 * * *', 'CRON_TZ=America/New_York 30 1 * * *', 'CRON_TZ=America/Los_Angeles 0 0 2,12,22 * *',
  'CRON_TZ=Asia/Kolkata 0 0 9,19,29 * *', 'CRON_TZ=Asia/Tokyo 0 0 28-31 * *', 'CRON_TZ=Europe/Helsinki 0 3 * * *',
  'CRON_TZ=America/Santiago 0 0 * * *', 'CRON_TZ=America/Havana 0 0 * * *', 'CRON_TZ=Australia/Lord_Howe 15 2 * * *',
  'CRON_TZ=Asia/Kathmandu 0 0 * * 1', 'CRON_TZ=America/Santiago 0 12 * * 0', 'CRON_TZ=America/Havana 0 12 * * 0',
  'CRON_TZ=Asia/Beirut 0 6 * * 0', 'CRON_TZ=America/Havana 30 0 10-20 3 *', 'CRON_TZ=Europe/Berlin @daily', 'CRON_TZ= 0 0 * * *', 'CRON_TZ=UTC 0 6 * * 1',
  // what robfig rejects
  '0 0 * *', '0 0 * * * *', '60 0 * * *', '0 24 * * *', '0 0 0 * *', '0 0 32 * *', '0 0 * 13 *', '0 0 * * 7', '0 0 5-1 * *',
  '0 0 */0 * *', '0 0 1-2-3 * *', '0 0 1/2/3 * *', 'x 0 * * *', '0 0 -1 * *', 'CRON_TZ=Mars/Base 0 0 * * *', 'CRON_TZ=europe/berlin 0 0 * * *',
  'CRON_TZ=Europe/Berlin', '@fortnightly', '@every 7d', '@every', '',
];
const froms = ['2027-01-20T12:34:56Z', '2027-02-26T00:00:00Z', '2027-03-26T00:00:00Z', '2027-10-29T00:00:00Z', '2028-02-27T23:59:59Z', '2026-09-04T00:00:00Z', '2026-11-01T00:00:00Z', '2027-03-12T00:00:00Z'];
const cases = specs.flatMap((spec) => froms.map((from) => ({ spec, from, count: 8 })));
process.stdout.write(JSON.stringify(cases, null, 1) + '\n');
