module leakhunt/goheap

go 1.19
