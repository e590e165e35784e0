-- wrk script that paces each connection: 10 ms between a response and the next request, so
-- the demo service sees ~100 requests/s per connection instead of as many as the CPU allows.
function delay()
    return 10
end
