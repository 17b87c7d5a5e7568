
Robots learn to fold laundry