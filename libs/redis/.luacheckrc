-- luacheck settings for the Redis scripts in src/lua (run by `npm run lint:lua`).
-- Redis runs Lua 5.1 and gives scripts these globals.
std = 'lua51'
read_globals = { 'redis', 'KEYS', 'ARGV', 'cjson', 'unpack' }
max_line_length = 130
