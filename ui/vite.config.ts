import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the graph service at /; the API is on the same origin (/api), so no CORS.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:7770' } },
});
