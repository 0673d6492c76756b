-- The idiomatic Lua equivalent: a table of pieces joined once.
local n = tonumber(arg[1] or 200000)
local t = {}
for i = 0, n - 1 do t[#t + 1] = "x" .. (i % 10) end
print(#table.concat(t))
