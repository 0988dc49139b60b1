import type { NextConfig } from 'next';

// One standalone server (node .next/standalone/server.js) that reads the
// gateway URL from its environment at run time, so one build runs anywhere.
const nextConfig: NextConfig = {
    output: 'standalone',
    poweredByHeader: false,
    reactStrictMode: true,
    // Keep the trace inside frontend/ (the repo root holds C build folders).
    outputFileTracingRoot: __dirname,
};

export default nextConfig;
