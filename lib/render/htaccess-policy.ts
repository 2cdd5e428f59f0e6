/**
 * What a member's .htaccess may say: the AllowOverride and AllowOverrideList lines of every
 * member site's <Directory> (apache-vhost.conf.hbs). One place, so the vhosts, the tests and
 * docs/architecture.md ("Web isolation") agree.
 *
 * The rule: what WordPress, SPIP and Dolibarr (and the caching plugins members use with them)
 * write into .htaccess, and nothing whose purpose is to choose a handler (SetHandler,
 * AddHandler, Action, ForceType), a proxy target, or the environment passed to PHP (SetEnv,
 * SetEnvIf, PassEnv). mod_rewrite's [H], [P], [T] and [E] flags cannot be refused by any list:
 * they are stopped elsewhere (the member's requests run as the member under mpm-itk, so the
 * kernel refuses another pool's socket; PHP_VALUE and PHP_ADMIN_VALUE are stripped from every
 * FastCGI request; a file's type never picks its handler; mod_status and mod_info are off).
 */

/**
 * AllowOverride categories, whole or restricted:
 * - AuthConfig: basic auth (AuthType, AuthName, AuthUserFile, Require …), CGIPassAuth;
 * - Indexes: DirectoryIndex, FallbackResource, Expires* (mod_expires), autoindex settings;
 * - Limit: Order, Allow, Deny (old "deny from all" files SPIP and Dolibarr still write);
 * - Options, restricted to listing, MultiViews and symbolic links (never ExecCGI or Includes).
 *   Under mpm-itk a followed link reads only what the member could read anyway.
 */
export const HTACCESS_OVERRIDE = ["AuthConfig", "Indexes", "Limit", "Options=Indexes,MultiViews,FollowSymLinks,SymLinksIfOwnerMatch"];

/**
 * Single directives of the FileInfo category (AllowOverrideList), and who writes them:
 * - mod_rewrite: pretty URLs (WordPress, SPIP, Dolibarr's custom rules, caching plugins);
 * - ErrorDocument: custom error pages;
 * - Header: caching and security headers (mod_headers);
 * - Redirect*: moved pages;
 * - AddType, AddCharset, AddDefaultCharset, AddEncoding, AddOutputFilter(ByType), FileETag:
 *   what caching plugins (WP Rocket, W3 Total Cache) write for fonts, compression and ETags.
 *   A type never picks a handler here: every file of a member's site has its handler set by
 *   the vhost (default-handler, or the member's own FPM pool for .php).
 */
export const HTACCESS_DIRECTIVES = [
  "RewriteEngine",
  "RewriteBase",
  "RewriteCond",
  "RewriteRule",
  "RewriteOptions",
  "ErrorDocument",
  "Header",
  "Redirect",
  "RedirectMatch",
  "RedirectPermanent",
  "RedirectTemp",
  "AddType",
  "AddCharset",
  "AddDefaultCharset",
  "AddEncoding",
  "AddOutputFilter",
  "AddOutputFilterByType",
  "FileETag",
];
