/** Where things live on the hosts. One place, so renderers, provider and docs agree. */
export const paths = {
  home: (handle: string) => `/home/${handle}`,
  docroot: (handle: string, host: string) => `/home/${handle}/sites/${host}/htdocs`,
  fpmSocket: (handle: string, php: string) => `/run/php/globenet-${handle}-php${php}.sock`,
  /** The notice page served for suspended members' sites. */
  suspendedDir: "/var/www/globenet-suspended",
  zoneFile: (zone: string) => `/var/lib/bind/globenet/${zone}.zone`,
  vpsDisk: (imagesDir: string, domain: string) => `${imagesDir}/${domain}.qcow2`,
  vpsSeed: (imagesDir: string, domain: string) => `${imagesDir}/${domain}-seed.iso`,
};
