-- wrk: POST /api/v1/Invoice, two items each, for one customer; the billing app's C++ controller
-- computes the amounts and the total on insert. The Authorization header comes from wrk -H.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer": "CUST-00001", "posting_date": "2026-11-26", "items": ['
  .. '{"item": "Widget", "qty": 2, "rate": 10}, {"item": "Gadget", "qty": 1, "rate": 5.5}]}'
