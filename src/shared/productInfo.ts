/** Names shared by the host, CLI and webview. The version is checked against package.json by a unit test. */
export const productInfo = {
  name: 'PointBox',
  id: 'pointbox',
  version: '0.1.0',
} as const;
